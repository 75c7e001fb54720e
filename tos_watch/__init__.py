"""tos_watch: watch privacy policies and terms of service, keep every version,
show what changed, and flag changes to licences, access and retention."""

__version__ = "0.1.0"
