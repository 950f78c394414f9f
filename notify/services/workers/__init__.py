"""What a worker process runs: the streams its dispatcher serves (`streams.py`, started by
`outbox_process.py`) and beat's sweeper (`sweeper.py`), which rings for due work of every
stream. The one group that knows all the others, so none of them needs to know it.
"""
