def partitions_ensure_after_migrate(**kwargs):
    pass
