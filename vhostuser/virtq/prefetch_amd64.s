#include "textflag.h"

// func prefetchLines(addrs *unsafe.Pointer, n int)
TEXT ·prefetchLines(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	addrs+0(FP), SI
	MOVQ	n+8(FP), CX
	TESTQ	CX, CX
	JLE	done
loop:
	MOVQ	(SI), AX
	PREFETCHT0	(AX)
	PREFETCHT0	64(AX)
	ADDQ	$8, SI
	DECQ	CX
	JNZ	loop
done:
	RET

// func prefetchLinesW(addrs *unsafe.Pointer, n int)
TEXT ·prefetchLinesW(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	addrs+0(FP), SI
	MOVQ	n+8(FP), CX
	TESTQ	CX, CX
	JLE	donew
loopw:
	MOVQ	(SI), AX
	// PREFETCHW (AX); PREFETCHW 64(AX): the assembler has no mnemonic.
	// CPUs without it (before Broadwell) decode 0F 0D as a NOP.
	BYTE	$0x0F; BYTE $0x0D; BYTE $0x08
	BYTE	$0x0F; BYTE $0x0D; BYTE $0x48; BYTE $0x40
	ADDQ	$8, SI
	DECQ	CX
	JNZ	loopw
donew:
	RET
