"""Machine-file formats: detection, the Reader base class and the built-in readers."""
