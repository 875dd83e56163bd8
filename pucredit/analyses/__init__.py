"""One module per policy theme (volume 二(一), pricing 二(二), first loans 二(三), risk 四(九), quality 五(十一))
and the metrics document that collects their headline numbers."""
