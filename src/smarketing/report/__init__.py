"""The nightly revenue report: one self-contained HTML page of charts from the published marts."""
