"""Digests: gathering messages per recipient and key, when they flush, and flushing them."""
