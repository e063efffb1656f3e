"""Payment channels behind one port. No channel's name appears outside this package."""
