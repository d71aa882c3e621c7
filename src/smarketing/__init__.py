"""smarketing-warehouse: marketing and sales on one set of numbers."""

__version__ = "0.1.0"
