"""One module per vendor: the demo world in that vendor's files and on its HTTP API.

Each mirrors ``smarketing.sources.<vendor>``: ``FOLDER`` (its folder in the demo directory),
``write(world, out_dir)`` (render the world into the vendor's wire format) and, for the
vendors with an API, an ``Api`` class that answers the vendor's endpoints from the files,
loaded and indexed once per file version (``server.py`` only routes requests to them).
"""

from smarketing.demo.vendors import ga4, google_ads, hubspot, mailchimp, meta_ads

VENDORS = (hubspot, mailchimp, google_ads, meta_ads, ga4)
