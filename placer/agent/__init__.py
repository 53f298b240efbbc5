"""The learned parts (torch): the placement policy and the annealing controller, their training and use."""
