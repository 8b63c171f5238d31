"""Import of a bank's history in the format of the Berka (PKDD'99) data set."""
