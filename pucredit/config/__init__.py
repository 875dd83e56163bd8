"""What a run is configured by: project paths, periods, policy years, bank files, shipped reference data."""
