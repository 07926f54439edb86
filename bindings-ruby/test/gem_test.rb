# frozen_string_literal: true

require_relative 'test_helper'
require 'tmpdir'
require 'open3'

# The gem as an application gets it: built with `gem build`, installed into
# an empty GEM_HOME, required by a Ruby process outside the repository (the
# ffi gem from the system), reading a secret through the library inside it.
class GemTest < Minitest::Test
  GEM_DIR = File.expand_path('..', __dir__)

  def test_the_built_gem_installs_and_reads_outside_the_repository
    Helpers.servers!
    Dir.mktmpdir('secretkit-gem-') do |dir|
      _out, err, status = Open3.capture3('gem', 'build', 'secretkit.gemspec', '--output', File.join(dir, 'sk.gem'),
                                         chdir: GEM_DIR)
      assert status.success?, err
      home = File.join(dir, 'home')
      _out, err, status = Open3.capture3('gem', 'install', '--local', '--no-document', '--ignore-dependencies',
                                         '--install-dir', home, File.join(dir, 'sk.gem'))
      assert status.success?, err
      script = 'require "secretkit"; s = Secretkit::Client.from_env.get(ARGV[0]); ' \
               'puts [s.inspect, s.reveal.size, $LOADED_FEATURES.grep(/secretkit\\.rb/).first].join("|")'
      env = { 'GEM_HOME' => home, 'GEM_PATH' => [home, *Gem.path].join(File::PATH_SEPARATOR), 'RUBYLIB' => nil,
              'SECRETKIT_RUBY_LIB' => nil }
      out, err, status = Open3.capture3(env, 'ruby', '-e', script, SSM, chdir: dir)
      assert status.success?, err
      shown, size, loaded = out.strip.split('|')
      assert_equal "Secret(#{SSM}, <redacted>)", shown
      assert_equal 's3cureP@ssw0rd!'.size, Integer(size)
      assert loaded.start_with?(home), "secretkit loaded from the installed gem, not #{loaded}"
    end
  end
end
