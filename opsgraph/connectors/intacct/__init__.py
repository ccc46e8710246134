"""Sage Intacct (ERP) over the XML gateway."""
