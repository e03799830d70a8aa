"""Transfers (转学) of a student between schools, and record packages between installations.

- `services.py`: the request by the receiving school, the sending school's confirmation or
  refusal, a withdrawal; the student's class changes, nothing in the ledger does.
- `selectors.py`: the transfers a school admin sees, and the students a school lists as
  transferred out.
- `signing.py`: this installation's Ed25519 key, fingerprints, canonical JSON.
- `packages.py`: a signed record package, built for one student and verified, then taken in.
"""
