"""corpus-repair: find and repair encoding damage, converter residue and boilerplate in Chinese text.

    >>> import repair
    >>> result = repair.fix_text("...")        # .text, .changes (every record), .info
    >>> repair.scan_text("...").findings        # what fix_text would change or flag; text untouched
    >>> repair.fix_bytes(raw).info["encoding"]  # decode raw bytes first, then repair
"""
from repair.config import Config, ConfigError, config_for
from repair.decoding import Decoded, decode_bytes
from repair.engine import fix_text, scan_text
from repair.records import Change, Result

__version__ = "0.1.0"
__all__ = [
    "Change", "Config", "ConfigError", "Decoded", "Result",
    "config_for", "decode_bytes", "fix", "fix_bytes", "fix_text", "scan_text",
]


def fix(text: str, config: Config | None = None) -> str:
    """`text -> text`: the repaired text alone (ftfy's `fix_text` shape)."""
    return fix_text(text, config).text


def fix_bytes(data: bytes, config: Config | None = None, *, path: str | None = None) -> Result:
    """Decode raw bytes (recording the encoding and why), then repair the text."""
    decoded = decode_bytes(data, path=path)
    result = fix_text(decoded.text, config, path=path, info=decoded.info)
    result.changes[:0] = decoded.changes
    return result
