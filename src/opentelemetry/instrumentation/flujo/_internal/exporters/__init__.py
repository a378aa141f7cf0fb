"""The recording exporters' implementation; the public names are in ``..exporters``."""
