"""The web apps the HTTP port serves; their built assets live in this package."""
