"""Low-balance policy: what happens as an account's credits run low or out."""
