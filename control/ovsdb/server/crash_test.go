package server

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/client"
	"gvswitch/internal/testenv"
)

// TestCrashChild is the child process of TestKill9LosesNoAcknowledgedCommit
// and of the benchmarks: it serves the database file named by GVS_CRASH_DB
// (or, with GVS_CRASH_MEMORY set, an in-memory database) on GVS_CRASH_SOCK.
func TestCrashChild(t *testing.T) {
	dbPath := os.Getenv("GVS_CRASH_DB")
	if os.Getenv("GVS_CRASH_SOCK") == "" {
		t.Skip("child process of TestKill9LosesNoAcknowledgedCommit")
	}
	s, _ := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	// The crash test compacts often, to kill during compactions too.
	compact := 0
	if os.Getenv("GVS_CRASH_COMPACT") != "" {
		compact = 150
	}
	var db *ovsdb.Database
	if os.Getenv("GVS_CRASH_MEMORY") != "" {
		db = ovsdb.NewDatabase(s) // benchmark: no journal, no fsync
	} else {
		var err error
		db, _, err = ovsdb.OpenFile(dbPath, s, &ovsdb.FileOptions{CompactRecords: compact, CompactFactor: 2,
			Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	if err := db.Check(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	l, err := ListenUnix(os.Getenv("GVS_CRASH_SOCK"), 0o700)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	New(db).Serve(l)
}

// startChildServer re-executes the test binary as a server process
// (TestCrashChild) for the database file dbPath on sock.
func startChildServer(t testing.TB, dbPath, sock string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(append(os.Environ(), "GVS_CRASH_DB="+dbPath, "GVS_CRASH_SOCK="+sock), env...)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd
		}
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatalf("child: %s", sc.Text())
		}
	}
	t.Fatal("child exited before serving")
	return nil
}

func TestKill9LosesNoAcknowledgedCommit(t *testing.T) {
	testenv.Short(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "conf.db")
	sock := filepath.Join(dir, "db.sock")
	t.Setenv("GVS_CRASH_COMPACT", "1")
	start := func() *exec.Cmd { return startChildServer(t, dbPath, sock) }
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := -1 // highest transaction number acknowledged
	total := 0
	for round := 0; total < 1000 && round < 60; round++ {
		child := start()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		c, err := client.Dial(ctx, "unix:"+sock)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if _, err := c.Transact(ctx, "Open_vSwitch", client.Insert("Open_vSwitch", "", map[string]any{})); err != nil {
				t.Fatal(err)
			}
		}
		// Kill at a random moment during this round's stream: after a
		// random number of acknowledged commits plus a random delay, so
		// that the kill lands anywhere in a commit (or a compaction).
		killAt := 50 + rng.Intn(250)
		killDelay := time.Duration(rng.Intn(3000)) * time.Microsecond
		var timer *time.Timer
		inRound := 0
		for total < 1000 {
			n := total
			_, err := c.Transact(ctx, "Open_vSwitch",
				client.Insert("Interface", "i", map[string]any{"name": fmt.Sprintf("p%d", n)}),
				client.Insert("Port", "p", map[string]any{"name": fmt.Sprintf("p%d", n), "interfaces": client.NamedUUID("i")}),
				client.Insert("Bridge", "b", map[string]any{"name": fmt.Sprintf("br%d", n), "ports": client.NamedUUID("p")}),
				client.Mutate("Open_vSwitch", client.All(), client.Mutation("bridges", "insert", client.NamedUUID("b")),
					client.Mutation("next_cfg", "+=", 1)),
				client.Comment(fmt.Sprintf("txn %d", n)))
			if err != nil {
				break // the child is gone
			}
			acked = n
			total++
			if inRound++; inRound == killAt {
				timer = time.AfterFunc(killDelay, func() { child.Process.Signal(syscall.SIGKILL) })
			}
		}
		if timer != nil {
			timer.Stop()
		}
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
		c.Close()
		cancel()

		// Open the file the dead child left: every acknowledged
		// transaction is there and the database is consistent.
		s, _ := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
		var logged []string
		db, fj, err := ovsdb.OpenFile(dbPath, s, &ovsdb.FileOptions{Log: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		names := map[string]bool{}
		var nextCfg int64
		db.Read(func(v ovsdb.View) {
			v.Rows("Bridge", func(_ ovsdb.UUID, f []ovsdb.Datum) {
				names[f[s.Table("Bridge").Column("name").Index].Keys[0].(string)] = true
			})
			v.Rows("Open_vSwitch", func(_ ovsdb.UUID, f []ovsdb.Datum) {
				nextCfg = f[s.Table("Open_vSwitch").Column("next_cfg").Index].Keys[0].(int64)
			})
		})
		for i := 0; i <= acked; i++ {
			if !names[fmt.Sprintf("br%d", i)] {
				t.Fatalf("round %d: acknowledged transaction %d lost (%d bridges)", round, i, len(names))
			}
		}
		// At most the one unacknowledged in-flight transaction may be
		// there too; if it is, it counts as done.
		if len(names) != acked+1 && len(names) != acked+2 {
			t.Fatalf("round %d: %d bridges after %d acknowledged commits", round, len(names), acked+1)
		}
		if len(names) == acked+2 {
			acked++
			total++
		}
		if nextCfg != int64(len(names)) {
			t.Fatalf("round %d: next_cfg %d for %d bridges (transaction not atomic)", round, nextCfg, len(names))
		}
		t.Logf("round %d: killed %v after commit %d of the round, %d transactions committed, file %d records; %s", round, killDelay, killAt, acked+1, fj.Records(), strings.Join(logged, "; "))
		fj.Close()
	}
	if total < 1000 {
		t.Fatalf("only %d of 1000 transactions committed", total)
	}
}
