"""Admin management of credit kinds, project owners, projects and prices."""
