"""Several devices and processes: the `data` mesh (`sharding.py`), joining a multi-process job
(`distributed.py`) and naming a dead pod host (`pod_watch.py`)."""
