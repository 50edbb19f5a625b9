"""The three services: api_gateway, number_registry, import_worker."""
