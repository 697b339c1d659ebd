// Package root assembles the tether command tree.
package root

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	bootstrapcmd "github.com/tether-gitops/tether/pkg/cmd/bootstrap"
	"github.com/tether-gitops/tether/pkg/cmd/build"
	"github.com/tether-gitops/tether/pkg/cmd/check"
	"github.com/tether-gitops/tether/pkg/cmd/completion"
	"github.com/tether-gitops/tether/pkg/cmd/create"
	deletecmd "github.com/tether-gitops/tether/pkg/cmd/delete"
	"github.com/tether-gitops/tether/pkg/cmd/diff"
	"github.com/tether-gitops/tether/pkg/cmd/events"
	"github.com/tether-gitops/tether/pkg/cmd/export"
	"github.com/tether-gitops/tether/pkg/cmd/get"
	"github.com/tether-gitops/tether/pkg/cmd/install"
	"github.com/tether-gitops/tether/pkg/cmd/logs"
	"github.com/tether-gitops/tether/pkg/cmd/reconcile"
	"github.com/tether-gitops/tether/pkg/cmd/resume"
	"github.com/tether-gitops/tether/pkg/cmd/suspend"
	"github.com/tether-gitops/tether/pkg/cmd/trace"
	"github.com/tether-gitops/tether/pkg/cmd/tree"
	"github.com/tether-gitops/tether/pkg/cmd/uninstall"
	"github.com/tether-gitops/tether/pkg/cmd/validate"
	versioncmd "github.com/tether-gitops/tether/pkg/cmd/version"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/version"
)

// EnvPrefix is the prefix of environment variables that set flags:
// TETHER_NAMESPACE sets --namespace, TETHER_KUBECONFIG sets --kubeconfig.
const EnvPrefix = "TETHER"

// NewCmdRoot returns the root command with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "tether",
		Short: "Keep Kubernetes clusters in sync with Git, Helm, S3 and OCI sources",
		Long: `tether installs and drives Tether, a GitOps toolkit for Kubernetes: sources
(Git, Helm repositories, S3 buckets, OCI registries) describe the desired state,
and the in-cluster reconciler keeps the cluster equal to it.`,
		Version:       version.Get(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindConfig(cmd, configFile)
		},
	}
	cmd.SetVersionTemplate("tether {{.Version}}\n")
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)

	flags := cmd.PersistentFlags()
	f.ConfigFlags.AddFlags(flags)
	flags.BoolVar(&f.Verbose, "verbose", false, "on error, print the chain of causes and the API server's details")
	flags.StringVar(&configFile, "config", "", "config file (default $XDG_CONFIG_HOME/tether/config.yaml)")

	cmd.AddCommand(
		versioncmd.NewCmdVersion(f, nil),
		completion.NewCmdCompletion(f),
		install.NewCmdInstall(f, nil),
		bootstrapcmd.NewCmdBootstrap(f),
		uninstall.NewCmdUninstall(f, nil),
		check.NewCmdCheck(f, nil),
		build.NewCmdBuild(f, nil),
		diff.NewCmdDiff(f, nil),
		get.NewCmdGet(f, nil),
		reconcile.NewCmdReconcile(f, nil),
		suspend.NewCmdSuspend(f, nil),
		resume.NewCmdResume(f, nil),
		deletecmd.NewCmdDelete(f, nil),
		export.NewCmdExport(f, nil),
		create.NewCmdCreate(f, nil),
		tree.NewCmdTree(f, nil),
		events.NewCmdEvents(f, nil),
		logs.NewCmdLogs(f, nil),
		trace.NewCmdTrace(f, nil),
		validate.NewCmdValidate(f, nil),
	)
	return cmd
}

// bindConfig gives flags their value by precedence: a flag on the command line,
// then a TETHER_* environment variable, then the config file, then the default.
func bindConfig(cmd *cobra.Command, configFile string) error {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()

	explicit := configFile != ""
	if !explicit {
		configFile = os.Getenv(EnvPrefix + "_CONFIG")
		explicit = configFile != ""
	}
	if !explicit {
		configFile = defaultConfigFile()
	}
	if configFile != "" {
		v.SetConfigFile(configFile)
		if err := v.ReadInConfig(); err != nil {
			if explicit || !os.IsNotExist(err) && fileExists(configFile) {
				return fmt.Errorf("reading config file %s: %w", configFile, err)
			}
		}
	}

	var firstErr error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if fl.Changed || fl.Name == "config" || !v.IsSet(fl.Name) || firstErr != nil {
			return
		}
		val := v.Get(fl.Name)
		var s string
		if list, ok := val.([]any); ok {
			parts := make([]string, len(list))
			for i, p := range list {
				parts[i] = fmt.Sprint(p)
			}
			s = strings.Join(parts, ",")
		} else {
			s = fmt.Sprint(val)
		}
		if err := cmd.Flags().Set(fl.Name, s); err != nil {
			firstErr = fmt.Errorf("invalid value %q for --%s from the environment or config file: %w", s, fl.Name, err)
		}
	})
	return firstErr
}

func defaultConfigFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tether", "config.yaml")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
