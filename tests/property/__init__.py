"""Property-based tests (hypothesis): over the parsers, decode_json, the counter guard and the
config loader. Marked `property`; the whole layer runs in well under a minute."""
