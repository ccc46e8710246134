"""A Sage Intacct XML gateway simulator."""
