"""One package per platform, each exposing ``ADAPTER: connector.ports.AdapterSpec``."""
