"""Source connectors: one reader per vendor behind one interface (see ``base``)."""
