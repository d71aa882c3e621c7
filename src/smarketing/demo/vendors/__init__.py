"""One module per vendor: its wire format and endpoints, mirroring ``smarketing.sources``."""
