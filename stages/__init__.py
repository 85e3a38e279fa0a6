"""The stenosis library: one sub-package per pipeline stage, importable without the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stenosis")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
