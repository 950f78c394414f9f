"""The send path: the outbox engine, its streams and wake-ups, sending through channels, recording
outcomes, and the sweeper that keeps Postgres the truth.
"""
