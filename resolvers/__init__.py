"""What each field does: rules, authorization and validation. No SQL or Mongo syntax here."""
