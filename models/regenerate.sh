#!/usr/bin/env bash
# Regenerates every committed model and results table, from the repository root after
# `make setup`:  bash models/regenerate.sh   (about 5 CPU-hours on 2 cores, most of it the
# `paper` preset and the KdV reference). Each step is also documented in models/README.md.
set -euo pipefail
source .venv/bin/activate
T="--threads 1 --quiet"

hfc data --equation burgers --out data/burgers
hfc data --equation ks --out data/ks
hfc data --equation kdv --out data/kdv

for f in 2 4 8 16 32; do
  hfc train --equation burgers --factor $f --data data/burgers --out models/burgers/network/${f}x --preset quick $T
  hfc train --equation ks --factor $f --data data/ks --out models/ks/network/${f}x --preset quick $T
  hfc train --equation kdv --factor $f --data data/kdv --out models/kdv/network/${f}x --preset quick $T
done
for f in 4 8 16 32; do
  hfc train --equation burgers --factor $f --data data/burgers --out models/burgers/constant-godunov/${f}x \
      --preset quick --kind constant --godunov --unroll 8 $T
done
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers/network-paper/8x --preset paper $T

# the accuracy-for-cost front (issue 16): width x depth, kernel, stencil; models for a host's own time stepper
# (forward Euler) and for longer steps (SSP-RK3 at Courant 1, from L3C16; fine-tuned further to 1.5 it diverged in
# the host, to 2 on 97% of the validation samples: not committed);
# constant stencils trained through SSP-RK3 at the host's Courant number
for l in 2 3 4; do for c in 4 8 16 32; do
  [ "$l$c" = "332" ] && continue      # L3C32 is models/burgers/network/8x
  hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/L${l}C${c}/8x --preset quick \
      --layers $l --channels $c $T
done; done
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/L3C16-k3/8x --preset quick \
    --layers 3 --channels 16 --kernel 3 $T
for s in 4 8; do
  hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/L3C16-s$s/8x --preset quick \
      --layers 3 --channels 16 --stencil $s $T
done
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/euler-C0.5-L3C32/8x --preset quick \
    --unroll 8 --integrator euler --courant 0.5 $T
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/euler-C0.5-L3C32-tuned/8x \
    --preset quick --unroll 8 --integrator euler --courant 0.5 --init models/burgers/network/8x --learning-rate 3e-4 $T
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/euler-C0.5-L3C32-tuned16/8x \
    --preset quick --unroll 16 --integrator euler --courant 0.5 --init models/burgers-front/euler-C0.5-L3C32-tuned/8x \
    --learning-rate 3e-4 --steps 1000 $T
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/ssprk3-C1-L3C16/8x --preset quick \
    --unroll 8 --integrator ssprk3 --courant 1 --layers 3 --channels 16 --init models/burgers-front/L3C16/8x \
    --steps 1000 --learning-rate 1e-3 $T
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/L3C8-k3/8x --preset quick \
    --layers 3 --channels 8 --kernel 3 $T
for m in "L2C8 1 2 8" "L3C8 1 3 8" "L3C16-k3 1 3 16 --kernel 3" "L3C8-k3 1 3 8 --kernel 3" "L3C16-k3 0.5 3 16 --kernel 3"; do
  set -- $m
  hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/ssprk3-C$2-$1/8x --preset quick \
      --unroll 8 --integrator ssprk3 --courant $2 --layers $3 --channels $4 ${5:-} ${6:-} --init models/burgers-front/$1/8x \
      --steps 1000 --learning-rate 1e-3 $T
done
hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/ssprk3-C1-L3C16-k3-u16/8x \
    --preset quick --unroll 16 --integrator ssprk3 --courant 1 --layers 3 --channels 16 --kernel 3 \
    --init models/burgers-front/ssprk3-C1-L3C16-k3/8x --steps 800 --learning-rate 3e-4 $T
for s in 4 6 8; do
  hfc train --equation burgers --factor 8 --data data/burgers --out models/burgers-front/constant-ssprk3-C0.5-s$s/8x \
      --preset quick --kind constant --godunov --unroll 8 --integrator ssprk3 --courant 0.5 --stencil $s $T
done
hfc bench --front

hfc evaluate --equation burgers --models models/burgers --out results/burgers --factors 1,2,4,8,16,32 --baselines
hfc evaluate --equation burgers --models models/burgers --out results/burgers-10x --factors 8 --domain 10 --runs 10 --baselines
hfc evaluate --equation ks --models models/ks --out results/ks
hfc evaluate --equation kdv --models models/kdv --out results/kdv

hfc data --equation advection2d --out data/advection2d --grid 64 --factor 4 --steps 128 --trajectories 24 --quiet
hfc train --equation advection2d --data data/advection2d --out models/advection2d/deformational/L4C32/64 \
    --layers 4 --channels 32 --steps 4000 $T
hfc train --equation advection2d --data data/advection2d --out models/advection2d/deformational/L3C8/64 \
    --layers 3 --channels 8 --steps 3000 $T
hfc evaluate --equation advection2d --models models/advection2d/deformational --out results/advection2d/deformational \
    --quiet
hfc data --equation advection2d --case square --out data/advection2d-square --grid 32 --factor 8 --steps 128 \
    --trajectories 30 --quiet
hfc train --equation advection2d --data data/advection2d-square --out models/advection2d/square/L4C32/32 \
    --layers 4 --channels 32 --steps 2000 $T
hfc evaluate --equation advection2d --case square --models models/advection2d/square --out results/advection2d/square \
    --quiet
hfc data --equation advection2d --case turbulence --out data/advection2d-turbulence --quiet
for m in L2C4 L3C4 L2C8 L3C8 L3C16 L4C32; do
  hfc train --equation advection2d --data data/advection2d-turbulence --out models/advection2d/turbulence/$m/32 \
      --layers ${m:1:1} --channels ${m:3} --steps 4000 $T
done
for m in L2C8 L3C8 L3C16 L4C32; do
  hfc train --equation advection2d --data data/advection2d-turbulence --out models/advection2d/turbulence/$m-4x3/32 \
      --layers ${m:1:1} --channels ${m:3} --stencil 4x3 --steps 4000 $T
done
hfc train --equation advection2d --data data/advection2d-turbulence --out models/advection2d/turbulence/L6C48-4x3/32 \
    --layers 6 --channels 48 --stencil 4x3 --steps 2000 $T
hfc evaluate --equation advection2d --case turbulence --models models/advection2d/turbulence \
    --out results/advection2d/turbulence --quiet
