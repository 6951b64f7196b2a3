"""Who is calling: one middleware, one small authenticator per Authorization scheme."""
