# peer_blas.sh - sourced by the sections that run Python peers: their OpenBLAS (numpy's,
# PyTorch's GEMMs) runs the kernel featcache runs. Debian's OpenBLAS 0.3.21 picks its SSE3
# Prescott kernel on Intel models newer than it (and Haswell on AVX-512 Zen); featcache
# switches (common/blas.c), and a peer left on Prescott would be a weak peer.
# Not a section of its own: run.sh skips it.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    fc_core=$("${FEATCACHE:-$(dirname "${BASH_SOURCE[0]}")/../featcache}" --version 2>/dev/null |
        sed -n 's/^BLAS: .*, core \([A-Za-z0-9]*\), .*/\1/p')
    if [ -n "$fc_core" ]; then
        export OPENBLAS_CORETYPE=$fc_core
        echo "peers: OPENBLAS_CORETYPE=$fc_core (the kernel featcache runs)"
    fi
fi
