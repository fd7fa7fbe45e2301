"""REST API of the accounts app: accounts, their permissions, the change log and the sync action."""
