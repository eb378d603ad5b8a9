#!/usr/bin/env python3
"""PyTorch reference for the training rows of bench/gpu.ts, on the same machine.

The VALOR++-size HAN parser as src/models/parsers builds it with kind 'han' (no LINK modules):

  audio [B, T, 128] -> audio_proj (Linear 128->256);  visual [B, T, 512] -> visual_proj (Linear 512->256)
  4 hybrid layers (hidden 256, 8 heads, FFN 1024 ReLU, dropout 0.1, post-norm); ONE set of
  weights per layer, shared by the modalities, applied a = layer(a, v), then v = layer(v, a):
    x = LN(x + Drop(CrossAttn(x, other)) + Drop(SelfAttn(x)));  x = LN(x + Drop(FFN(x)))
    attention: q/k/v/out Linear(256, 256) with bias, dropout on the softmax weights
    FFN: up Linear(256, 1024) -> ReLU -> dropout -> down Linear(1024, 256)
  MMIL heads (src/models/parsers/backbone.ts): 'segment', 'temporal_att', 'modality_att', each a
  Linear(256, 25) shared by the two modalities; temporal attention = softmax over segments,
  modality attention = sigmoid(score_a - score_v), video = sum_t of both weighted parts.
  loss = clip BCE (probabilities clamped to [1e-7, 1 - 1e-7], mean) + segment BCE-with-logits
  audio + visual against pseudo labels (means), summed with weight 1 (src/engine/losses.ts).
  AdamW(lr 1e-4, betas (0.5, 0.999), eps 1e-8, decoupled weight decay 1e-3 on parameters of
  rank >= 2 only: src/engine/optim.ts + step.ts), global grad-norm clipping at 1.
  Batch 64, T = 10, 25 classes, one random batch reused every step (as bench/gpu.ts does).

Rows, in this order: eager CUDA float32 (TF32 off), eager CUDA with TF32 matmuls allowed,
torch.compile (default mode, float32, in a subprocess bounded by --compile-timeout and --budget),
and eager CPU with 16 threads (fewer steps if the first says the rest would pass --budget).
--budget bounds the whole run except the first step of each row; the results file is rewritten
after every row, so a run stopped from outside keeps the rows done. Each row: median ms/step and steps/s over --steps timed steps after --warmup steps,
each step synchronised (torch.cuda.synchronize) and its loss read back (as the engine's step does).

  python3 bench/gpu_torch.py [--steps 100] [--warmup 10] [--cpu-steps 5] [--json out.json]
                             [--compile-timeout 120] [--budget 170] [--attention explicit|sdpa]
"""

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

START = time.monotonic()

T = 10
C = 25
BATCH = 64
DIMS = {'audio': 128, 'visual': 512}
SIZES = {'hidden': 256, 'heads': 8, 'ffn': 1024, 'layers': 4, 'dropout': 0.1}
LR = 1e-4
EXPECTED_PARAMS = 4395339  # the engine's HAN count printed by bench/gpu.ts


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--steps', type=int, default=100, help='timed CUDA steps per row (default 100)')
    p.add_argument('--warmup', type=int, default=10, help='untimed steps before timing (default 10)')
    p.add_argument('--cpu-steps', type=int, default=5, help='timed CPU steps (default 5; 0 skips the CPU row)')
    p.add_argument('--cpu-threads', type=int, default=16)
    p.add_argument('--json', default='', help='write the results here')
    p.add_argument('--compile-timeout', type=float, default=120.0,
                   help='seconds for the torch.compile row, compilation included (default 120)')
    p.add_argument('--no-compile', action='store_true')
    p.add_argument('--budget', type=float, default=170.0,
                   help='overall seconds; the compile row gets at most what is left (default 170)')
    p.add_argument('--attention', choices=['explicit', 'sdpa'], default='explicit',
                   help="explicit = the engine's matmul/softmax/dropout/matmul; sdpa = F.scaled_dot_product_attention")
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--only', choices=['compile'], default=None, help=argparse.SUPPRESS)
    p.add_argument('--row-out', default='', help=argparse.SUPPRESS)
    return p.parse_args(argv)


def log(line):
    print(line, flush=True)


# ------------------------------------------------------------------------------------ model

def build(torch, attention):
    nn = torch.nn
    F = torch.nn.functional

    def linear(i, o):
        m = nn.Linear(i, o)
        # Engine: Glorot-uniform W [in, out] (the bound is symmetric in in/out), zero bias.
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)
        return m

    class Attention(nn.Module):
        def __init__(self, d, heads, p):
            super().__init__()
            self.heads, self.p = heads, p
            self.q, self.k, self.v, self.out = linear(d, d), linear(d, d), linear(d, d), linear(d, d)

        def forward(self, x, ctx):
            b, tq, d = x.shape
            tk = ctx.shape[1]
            h, dh = self.heads, d // self.heads
            q = self.q(x).view(b, tq, h, dh).transpose(1, 2)
            k = self.k(ctx).view(b, tk, h, dh).transpose(1, 2)
            v = self.v(ctx).view(b, tk, h, dh).transpose(1, 2)
            p = self.p if self.training else 0.0
            if attention == 'sdpa':
                o = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
            else:
                w = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)), dim=-1)
                o = F.dropout(w, p, self.training) @ v
            return self.out(o.transpose(1, 2).reshape(b, tq, d))

    class FeedForward(nn.Module):
        def __init__(self, d, hidden, p):
            super().__init__()
            self.up, self.down, self.p = linear(d, hidden), linear(hidden, d), p

        def forward(self, x):
            return self.down(F.dropout(F.relu(self.up(x)), self.p, self.training))

    class HybridLayer(nn.Module):
        def __init__(self, d, heads, ffn, p):
            super().__init__()
            self.p = p
            self.cross = Attention(d, heads, p)
            self.self_attn = Attention(d, heads, p)
            self.norm1 = nn.LayerNorm(d, eps=1e-5)
            self.ffn = FeedForward(d, ffn, p)
            self.norm2 = nn.LayerNorm(d, eps=1e-5)

        def forward(self, x, other):
            drop = lambda t: F.dropout(t, self.p, self.training)  # noqa: E731
            h = self.norm1(x + drop(self.cross(x, other)) + drop(self.self_attn(x, x)))
            return self.norm2(h + drop(self.ffn(h)))

    class HanParser(nn.Module):
        def __init__(self):
            super().__init__()
            d = SIZES['hidden']
            self.audio_proj = linear(DIMS['audio'], d)
            self.visual_proj = linear(DIMS['visual'], d)
            self.layers = nn.ModuleList(
                HybridLayer(d, SIZES['heads'], SIZES['ffn'], SIZES['dropout']) for _ in range(SIZES['layers'])
            )
            self.segment = linear(d, C)
            self.temporal_att = linear(d, C)
            self.modality_att = linear(d, C)

        def forward(self, audio, visual):
            a, v = self.audio_proj(audio), self.visual_proj(visual)
            for layer in self.layers:
                a = layer(a, v)
                v = layer(v, a)
            a_logits, v_logits = self.segment(a), self.segment(v)
            a_prob, v_prob = torch.sigmoid(a_logits), torch.sigmoid(v_logits)
            a_share = torch.sigmoid(self.modality_att(a) - self.modality_att(v))
            a_part = torch.softmax(self.temporal_att(a), dim=1) * a_prob * a_share
            v_part = torch.softmax(self.temporal_att(v), dim=1) * v_prob * (1 - a_share)
            video = (a_part + v_part).sum(dim=1)
            return video, a_logits, v_logits

    def loss_fn(model, batch):
        video, a_logits, v_logits = model(batch['audio'], batch['visual'])
        p = video.clamp(1e-7, 1 - 1e-7)
        t = batch['labels']
        clip = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
        seg_a = F.binary_cross_entropy_with_logits(a_logits, batch['pseudo_audio'])
        seg_v = F.binary_cross_entropy_with_logits(v_logits, batch['pseudo_visual'])
        return clip + seg_a + seg_v

    return HanParser, loss_fn


def make_batch(torch, device, seed):
    g = torch.Generator().manual_seed(seed)
    batch = {
        'audio': torch.randn(BATCH, T, DIMS['audio'], generator=g),
        'visual': torch.randn(BATCH, T, DIMS['visual'], generator=g),
        'labels': (torch.rand(BATCH, C, generator=g) < 0.15).float(),
        'pseudo_audio': (torch.rand(BATCH, T, C, generator=g) < 0.1).float(),
        'pseudo_visual': (torch.rand(BATCH, T, C, generator=g) < 0.1).float(),
    }
    return {k: v.to(device) for k, v in batch.items()}


def make_optimizer(torch, model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{'params': decay, 'weight_decay': 1e-3}, {'params': plain, 'weight_decay': 0.0}],
        lr=LR, betas=(0.5, 0.999), eps=1e-8,
    )


def set_tf32(torch, on):
    """TF32 for CUDA float32 matmuls on/off; returns what torch then reports.

    Only the legacy setter torch.backends.cuda.matmul.allow_tf32 is used: it sets the legacy and
    the new (fp32_precision, torch >= 2.9) state together. Mixing setters of the two APIs makes
    torch raise ('mix of the legacy and new APIs') when a matmul or Inductor reads the flag.
    """
    try:
        torch.backends.cuda.matmul.allow_tf32 = on
    except Exception:  # noqa: BLE001 (a torch without the legacy setter)
        torch.backends.cuda.matmul.fp32_precision = 'tf32' if on else 'ieee'
    state = {}
    for key, read in (('allowTf32', lambda: torch.backends.cuda.matmul.allow_tf32),
                      ('fp32Precision', lambda: torch.backends.cuda.matmul.fp32_precision),
                      ('matmulPrecision', torch.get_float32_matmul_precision)):
        try:
            state[key] = read()
        except Exception as err:  # noqa: BLE001
            state[key] = f'unreadable: {type(err).__name__}'
    return state


def run_row(torch, args, name, device, *, tf32=False, compiled=False, steps=None, warmup=None, deadline=None):
    """Builds a fresh model on `device`, trains `warmup` + `steps` steps; returns the row.

    With a `deadline` (time.monotonic() seconds), fewer steps (at least one) when the first
    step's time says that the rest would pass it.
    """
    steps = args.steps if steps is None else steps
    warmup = args.warmup if warmup is None else warmup
    cuda = device == 'cuda'
    precision = None
    if cuda:
        precision = set_tf32(torch, tf32)
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(args.seed)
    HanParser, loss_fn = build(torch, args.attention)
    model = HanParser().to(device).train()
    params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(torch, model)
    batch = make_batch(torch, device, 7)
    forward_loss = torch.compile(loss_fn) if compiled else loss_fn

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = forward_loss(model, batch)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss, norm

    t0 = time.monotonic()
    loss, norm = step()
    first = {'loss': float(loss.item()), 'gradNorm': float(norm.item())}
    sync()
    first_ms = (time.monotonic() - t0) * 1000
    if deadline is not None:
        fit = int((deadline - time.monotonic()) / max(first_ms / 1000, 1e-3))
        if fit < warmup - 1 + steps:
            warmup, steps = (1, max(1, fit)) if fit < steps + 1 else (fit - steps + 1, steps)
            log(f'torch {name}: {first_ms:.0f} ms for the first step; cut to {warmup} warm-up + {steps} timed steps')
    for _ in range(max(warmup - 1, 0)):
        step()
    sync()
    ms = []
    for _ in range(steps):
        t = time.perf_counter()
        loss, _ = step()
        loss.item()
        sync()
        ms.append((time.perf_counter() - t) * 1000)
    med = statistics.median(ms)
    row = {
        'row': name, 'device': device, 'tf32': tf32, 'compiled': compiled, 'attention': args.attention,
        'precision': precision, 'params': params, 'batch': BATCH, 'steps': steps, 'warmup': warmup,
        'msPerStep': med, 'stepsPerSecond': 1000 / med, 'minMs': min(ms), 'maxMs': max(ms),
        'firstStepMs': first_ms, 'firstLoss': first['loss'], 'firstGradNorm': first['gradNorm'],
        'lastLoss': float(loss.item()),
    }
    if cuda:
        row['maxMemoryMiB'] = torch.cuda.max_memory_allocated() / 2**20
    log(f"torch {name:<26} {med:8.2f} ms/step {1000 / med:8.1f} steps/s  (first step {first_ms:.0f} ms, "
        f"loss {first['loss']:.4f} -> {row['lastLoss']:.4f}, grad norm {first['gradNorm']:.3f}, {params} parameters)")
    return row


# ------------------------------------------------------------------------------------- main

def compile_child(args):
    import torch
    try:
        row = run_row(torch, args, 'cuda compile fp32', 'cuda', compiled=True)
    except Exception as err:  # noqa: BLE001
        row = {'row': 'cuda compile fp32', 'error': f'{type(err).__name__}: {str(err).strip()[:2000]}'}
        log(f"torch cuda compile fp32: FAILED ({row['error'].splitlines()[0] if row['error'] else ''})")
    if args.row_out:
        with open(args.row_out, 'w') as f:
            json.dump(row, f)
    return 0 if 'error' not in row else 1


def compile_row(args, remaining):
    """The torch.compile row in a subprocess (its own process group) bounded by a timeout."""
    limit = min(args.compile_timeout, remaining)
    if limit < 20:
        return {'row': 'cuda compile fp32', 'error': f'skipped: only {limit:.0f} s of the budget left'}
    fd, path = tempfile.mkstemp(suffix='.json', prefix='gpu_torch_compile_')
    os.close(fd)
    cmd = [sys.executable, os.path.abspath(__file__), '--only', 'compile', '--row-out', path,
           '--steps', str(args.steps), '--warmup', str(args.warmup), '--seed', str(args.seed),
           '--attention', args.attention]
    log(f'torch.compile row: subprocess, limit {limit:.0f} s')
    t0 = time.monotonic()
    child = subprocess.Popen(cmd, start_new_session=True)

    def kill_child(*_):
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass

    previous = signal.signal(signal.SIGTERM, lambda *a: (kill_child(), sys.exit(143)))
    timed_out = False
    try:
        child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_child()
        child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        kill_child()  # inductor's compile workers, if any are left
    try:
        with open(path) as f:
            row = json.load(f)
    except (OSError, ValueError):
        why = (f'timed out after {limit:.0f} s (compilation included)' if timed_out
               else f'the subprocess exited with status {child.returncode} and no result')
        row = {'row': 'cuda compile fp32', 'error': why}
        log(f"torch cuda compile fp32: {why}")
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    row['wallSeconds'] = time.monotonic() - t0
    return row


def main():
    args = parse_args()
    if args.only == 'compile':
        return compile_child(args)
    results = {'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'model': 'han-valorpp',
               'sizes': SIZES, 'dims': DIMS, 'segments': T, 'classes': C, 'batch': BATCH, 'lr': LR,
               'expectedParams': EXPECTED_PARAMS, 'args': vars(args), 'rows': []}

    def save():
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(results, f, indent=2)

    try:
        return bench(args, results, save)
    except Exception:  # noqa: BLE001 (recorded, then the status says it failed)
        import traceback
        results['error'] = traceback.format_exc()
        save()
        raise


def bench(args, results, save):
    import torch

    results['torch'] = torch.__version__
    results['cudaRuntime'] = torch.version.cuda

    def guarded(fn, name):
        try:
            row = fn()
        except Exception as err:  # noqa: BLE001
            row = {'row': name, 'error': f'{type(err).__name__}: {str(err).strip()[:2000]}'}
            log(f"torch {name}: FAILED ({row['error'].splitlines()[0]})")
        results['rows'].append(row)
        save()
        return row

    HanParser, _ = build(torch, args.attention)
    params = sum(p.numel() for p in HanParser().parameters())
    results['params'] = params
    ok = params == EXPECTED_PARAMS
    log(f"torch {torch.__version__} (CUDA runtime {torch.version.cuda}), HAN parameters {params} "
        f"({'matches' if ok else 'DOES NOT MATCH'} the engine's {EXPECTED_PARAMS})")
    status = 0 if ok else 1

    has_cuda = torch.cuda.is_available()
    if has_cuda:
        name = torch.cuda.get_device_name(0)
        results['device'] = name
        log(f'device: {name}, capability {torch.cuda.get_device_capability(0)}')
        rows = [guarded(lambda: run_row(torch, args, 'cuda eager fp32', 'cuda'), 'cuda eager fp32'),
                guarded(lambda: run_row(torch, args, 'cuda eager tf32', 'cuda', tf32=True), 'cuda eager tf32')]
        if any('error' in r for r in rows):
            status = 1
    else:
        log('torch: CUDA is not available: the CUDA rows are skipped')
        results['rows'].append({'row': 'cuda', 'error': 'torch.cuda.is_available() is False'})
        status = max(status, 3)
    save()

    if has_cuda and not args.no_compile:
        results['rows'].append(compile_row(args, args.budget - (time.monotonic() - START)))
        save()

    if args.cpu_steps > 0:
        def cpu():
            torch.set_num_threads(args.cpu_threads)
            return run_row(torch, args, f'cpu eager fp32 ({torch.get_num_threads()} threads)', 'cpu',
                           steps=args.cpu_steps, warmup=1, deadline=START + args.budget)
        guarded(cpu, 'cpu eager fp32')

    results['wallSeconds'] = time.monotonic() - START
    save()
    failed = [r['row'] for r in results['rows'] if 'error' in r]
    log(f"torch reference done in {results['wallSeconds']:.0f} s"
        + (f"; rows without a result: {', '.join(failed)}" if failed else ''))
    return status


if __name__ == '__main__':
    sys.exit(main())
