"""The HTTP edge: helpers shared by API endpoints and pages."""
