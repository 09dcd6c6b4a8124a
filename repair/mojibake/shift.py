"""Placeholder: rules arrive from the mojibake work."""
