import sys

from pucredit.cli import main

sys.exit(main())
