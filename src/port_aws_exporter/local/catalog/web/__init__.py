"""The local catalog's read-only web page (`CatalogPages`), served beside the API at `/`."""

from port_aws_exporter.local.catalog.web.pages import CatalogPages

__all__ = ["CatalogPages"]
