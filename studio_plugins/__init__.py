"""Built-in model plugins, registered through the ``studio.models`` entry points like third-party ones."""
