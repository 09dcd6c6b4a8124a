"""M1xx: mojibake, repaired after the fact with byte arithmetic and a Chinese language model."""
from repair.mojibake import big5, codecs, shift  # noqa: F401  (import registers the rules)
