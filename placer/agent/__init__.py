"""The placement policy: network, maskable PPO policy, training and zero-shot placement (torch)."""
