"""What a business sells, as data: catalog items to credit pools, pools to GL accounts."""
