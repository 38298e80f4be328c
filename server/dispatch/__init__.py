"""Who gets which item next and what a judgment does: leases, the quiz and gold gate, the workforce adapters' side of the contract."""
