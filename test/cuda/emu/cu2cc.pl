#!/usr/bin/perl
# cu2cc.pl - rewrites a kernels/cuda/*.cu file into C++ for the CPU SIMT
# emulator (see simt.h): `kernel<<<cfg>>>(args)` becomes
# `emu_launch(emu_config(cfg), "kernel", kernel, args)`,
# `extern __shared__ T name[];` becomes a pointer to the block's dynamic
# shared memory, and `__shared__ T name[N];` a reference to the block's
# own instance of the variable. Line breaks are kept, so diagnostics point at the .cu line.
#
#   perl cu2cc.pl kernels/cuda/linear.cu > build-emu/emu/kernels/cuda/linear.cc
use strict;
use warnings;

my $path = $ARGV[0] or die "usage: cu2cc.pl FILE.cu\n";
open(my $fh, '<', $path) or die "cu2cc.pl: $path: $!\n";
local $/;
my $src = <$fh>;
close($fh);

$src =~ s{\b([A-Za-z_]\w*(?:\s*<[^<>;()]*>)?)\s*<<<(.*?)>>>\s*\(}
                         {emu_launch(emu_config($2), "$1", $1, }gs;
my $nlaunch = () = $src =~ /<<<|>>>/g;
die "cu2cc.pl: $path: a launch was not rewritten\n" if $nlaunch;
$src =~ s{\bextern\s+__shared__\s+(\w+)\s+(\w+)\s*\[\s*\]\s*;}
         {$1 *$2 = ($1 *)emu_dynamic_smem();}g;
die "cu2cc.pl: $path: extern __shared__ left\n" if $src =~ /extern\s+__shared__/;
# `__shared__ T name[N]...;` -> a reference to the block's instance
$src =~ s{\b__shared__\s+(\w+)\s+(\w+)\s*((?:\[[^\]]+\])*)\s*;}
         {$3 ne '' ? "$1 (&$2)$3 = emu_shared_var<$1$3>(__COUNTER__);"
                    : "$1 &$2 = emu_shared_var<$1>(__COUNTER__);"}ge;
die "cu2cc.pl: $path: a __shared__ declaration was not rewritten\n" if $src =~ /\b__shared__\b/;
print "#line 1 \"$path\"\n", $src;
