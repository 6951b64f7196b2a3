"""HTTP pieces every adapter may use: problem documents and the route-table entry."""
