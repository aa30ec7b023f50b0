package ixgbe

// Register offsets in BAR0 and their bits, from the Intel 82599 10 GbE
// Controller Datasheet (rev. 3.x) chapter 8 "Programming Interface" and the
// X540 datasheet chapter 8, which keeps the same offsets for everything this
// driver touches. Section numbers are given per register.
const (
	// 8.2.3.1.1 Device Control Register.
	regCTRL      = 0x00000
	ctrlLinkRst  = 1 << 3  // LRST: link reset
	ctrlRst      = 1 << 26 // RST: device (software) reset, self-clearing
	ctrlRstMask  = ctrlLinkRst | ctrlRst
	ctrlPCIeMDis = 1 << 2 // PCIe master disable

	// 8.2.3.1.2 Device Status Register.
	regSTATUS        = 0x00008
	statusPCIeMEn    = 1 << 19 // PCIe master enable status
	statusLANIDShift = 2

	// 8.2.3.1.3 Extended Device Control Register.
	regCTRLEXT      = 0x00018
	ctrlExtNSDis    = 1 << 16 // no-snoop disable
	ctrlExtDrvLoad  = 1 << 28 // driver loaded (tells the firmware)
	regEEC          = 0x10010 // 8.2.3.2.1 EEPROM/Flash Control
	eecAutoRdDone   = 1 << 9  // ARD: EEPROM auto-read done
	eecPresent      = 1 << 8  // PRES: EEPROM present
	regEICR         = 0x00800 // 8.2.3.5.1 Extended Interrupt Cause
	regEIMS         = 0x00880 // 8.2.3.5.3 Extended Interrupt Mask Set/Read
	regEIMC         = 0x00888 // 8.2.3.5.4 Extended Interrupt Mask Clear
	eimcAll         = 0x7FFFFFFF
	regEIMCEx0      = 0x00AB0 // 8.2.3.5.5 EIMC_EX[0]
	regEIMCEx1      = 0x00AB4 // 8.2.3.5.5 EIMC_EX[1]
	regRDRXCTL      = 0x02F00 // 8.2.3.8.8 Receive DMA Control
	rdrxctlCRCStrip = 1 << 1
	rdrxctlDMAIDone = 1 << 3 // DMA initialisation done
	// 8.2.3.8.8 field notes: RSCFRSTSIZE reads as non-zero and must be
	// written as zero; RSCACKC and FCOE_WRFIX read as zero and must be
	// written as one.
	rdrxctlRSCFrstSize = 0x1F << 17
	rdrxctlRSCACKC     = 1 << 25
	rdrxctlFCoEWrFix   = 1 << 26

	// 8.2.3.22.19 Auto Negotiation Control (82599 only; the X540's
	// copper PHY negotiates by itself).
	regAUTOC          = 0x042A0
	autocANRestart    = 1 << 12
	autocLMSShift     = 13
	autocLMSMask      = 7 << autocLMSShift
	autocLMS10GSerial = 3 << autocLMSShift // 10 GbE serial link with KX/KX4/KR
	autocPMAPMDMask   = 3 << 7
	autocPMAPMDXAUI   = 0 << 7

	// 8.2.3.22.20 Link Status Register.
	regLINKS        = 0x042A4
	linksUp         = 1 << 30
	linksSpeedShift = 28
	linksSpeedMask  = 3 << linksSpeedShift
	linksSpeed10G   = 3
	linksSpeed1G    = 2
	linksSpeed100M  = 1

	// 8.2.3.8.10 Receive Control Register.
	regRXCTRL  = 0x03000
	rxctrlRXEN = 1 << 0

	// 8.2.3.8.9 Receive Packet Buffer Size, 8 of them.
	regRXPBSIZE0 = 0x03C00
	rxpbsize512K = 512 << 10 // SIZE in KB at bits 19:10: the 82599's 512 KB
	rxpbsize384K = 384 << 10 // the X540's and X550's 384 KB (X540 1.3)

	// 8.2.3.22.8 MAC Core Control 0.
	regHLREG0       = 0x04240
	hlreg0TxCRCEn   = 1 << 0
	hlreg0RxCRCStrp = 1 << 1
	hlreg0JumboEn   = 1 << 2
	hlreg0TxPadEn   = 1 << 10

	// 8.2.3.22.13 Max Frame Size, MFS at bits 31:16.
	regMAXFRS    = 0x04268
	maxfrsShift  = 16
	regFCTRL     = 0x05080 // 8.2.3.7.1 Filter Control
	fctrlMPE     = 1 << 8  // multicast promiscuous
	fctrlUPE     = 1 << 9  // unicast promiscuous
	fctrlBAM     = 1 << 10 // broadcast accept
	regRXCSUM    = 0x05000 // 8.2.3.7.5 Receive Checksum Control
	rxcsumPCSD   = 1 << 13 // fragment checksum off: RSS hash in descriptor
	regMRQC      = 0x0EC80 // 8.2.3.7.12 Multiple Receive Queues Command
	mrqcRSSEn    = 1
	mrqcTCPIPv4  = 1 << 16
	mrqcIPv4     = 1 << 17
	mrqcIPv6     = 1 << 20
	mrqcTCPIPv6  = 1 << 21
	mrqcUDPIPv4  = 1 << 22
	mrqcUDPIPv6  = 1 << 23
	regRSSRK0    = 0x0EB80 // 8.2.3.7.14 RSS Random Key, 10 registers
	regRETA0     = 0x0EB00 // 8.2.3.7.13 Redirection Table, 32 registers
	retaEntries  = 128
	regRAL0      = 0x0A200 // 8.2.3.7.9 Receive Address Low
	regRAH0      = 0x0A204 // 8.2.3.7.10 Receive Address High
	rahAV        = 1 << 31
	regMTA0      = 0x05200 // 8.2.3.7.7 Multicast Table Array, 128 registers
	regSECRXCTRL = 0x08D00 // 8.2.3.12.1 Security RX Control
	secrxRxDis   = 1 << 1
	regSECRXSTAT = 0x08D04 // 8.2.3.12.2 Security RX Status
	secrxRdy     = 1 << 0

	// 8.2.3.8 Receive queue registers for queues 0..63, 0x40 apart.
	regRDBAL    = 0x01000
	regRDBAH    = 0x01004
	regRDLEN    = 0x01008
	regDCARXCTL = 0x0100C // 8.2.3.11.1 Rx DCA Control
	dcaRxRelax  = 1 << 12 // relaxed ordering of descriptor write-back
	regRDH      = 0x01010
	regSRRCTL   = 0x01014 // 8.2.3.8.7 Split Receive Control
	regRDT      = 0x01018
	regRXDCTL   = 0x01028 // 8.2.3.8.6 Receive Descriptor Control
	regQPRC     = 0x01030 // 8.2.3.23.71 Queue Packets Received Count
	regQPRDC    = 0x01430 // 8.2.3.23.72 Queue Packets Received Drop Count
	rxdctlEn    = 1 << 25
	srrctlBSize = 0x1F // BSIZEPACKET in 1 KB units, bits 4:0
	srrctlAdv1  = 1 << 25
	srrctlDrop  = 1 << 28 // DROP_EN: drop when no descriptor is free

	// 8.2.3.9 Transmit registers.
	regDMATXCTL  = 0x04A80 // 8.2.3.9.2 DMA Tx Control
	dmatxctlTE   = 1
	regDTXMXSZRQ = 0x08100 // 8.2.3.9.1 DMA Tx TCP Max Allow Size Requests
	regRTTDCS    = 0x04900 // 8.2.3.10.2 DCB Transmit Descriptor Plane Control
	rttdcsArbDis = 1 << 6
	regTXPBSIZE0 = 0x0CC00 // 8.2.3.9.13 Transmit Packet Buffer Size
	txpbsize160K = 160 << 10
	regTDBAL     = 0x06000 // 8.2.3.9.5..10, queues 0..127, 0x40 apart
	regTDBAH     = 0x06004
	regTDLEN     = 0x06008
	regTDH       = 0x06010
	regTDT       = 0x06018
	regTXDCTL    = 0x06028
	txdctlEn     = 1 << 25

	// 8.2.3.23 Statistics registers, all clear-on-read.
	regCRCERRS  = 0x04000 // CRC errors
	regILLERRC  = 0x04004 // illegal byte errors
	regERRBC    = 0x04008 // error byte count
	regMLFC     = 0x04034 // MAC local fault
	regMRFC     = 0x04038 // MAC remote fault
	regRLEC     = 0x04040 // receive length errors
	regLXONRX   = 0x041A4
	regLXOFFRX  = 0x041A8
	regPRC64    = 0x0405C // 0x405C..0x4070: 64,127,255,511,1023,1522
	regGPRC     = 0x04074
	regBPRC     = 0x04078
	regMPRC     = 0x0407C
	regGPTC     = 0x04080
	regGORCL    = 0x04088
	regGORCH    = 0x0408C
	regGOTCL    = 0x04090
	regGOTCH    = 0x04094
	regRUC      = 0x040A4
	regRFC      = 0x040A8
	regROC      = 0x040AC
	regRJC      = 0x040B0
	regTPR      = 0x040D0
	regTPT      = 0x040D4
	regPTC64    = 0x040D8 // 0x40D8..0x40EC
	regMPTC     = 0x040F0
	regBPTC     = 0x040F4
	regMPC0     = 0x03FA0 // missed packets, one per packet buffer (8)
	regLXONTX   = 0x03F60
	regLXOFFTX  = 0x03F68
	bar0MinSize = 0x20000
)

func rxq(reg uint32, q int) uint32 { return reg + uint32(q)*0x40 }
func txq(reg uint32, q int) uint32 { return reg + uint32(q)*0x40 }

// Limits of the silicon (82599 datasheet 1.3, 7.1.2, 7.2.1).
const (
	maxRxQueues  = 128 // 82599 has 128 RX queues; RSS spreads over 16
	maxRSSQueues = 16
	maxTxQueues  = 128
	maxDesc      = 4096 // our limit; RDLEN allows more
	minDesc      = 64
	descSize     = 16
	// MaxMTU is the largest MTU a port accepts: OVS-DPDK's limit (a
	// 9728-byte frame), well under the 82599's 15.5 KB jumbo limit.
	MaxMTU = 9710
	// frame overhead on top of the MTU: Ethernet header, two VLAN tags and
	// the CRC (MAXFRS counts the CRC, 8.2.3.22.13).
	frameOverhead = 14 + 8 + 4
)
