# guest/: the guest side of the sandbox-2 protocol, and the example guests.
guest_SRCS :=
