"""ringfence: a local-first vault for home camera footage."""

__version__ = "0.1.0"
