# frozen_string_literal: true

require_relative 'test_helper'
require 'logger'
require 'pp'
require 'stringio'
require 'tmpdir'

# Leak canary (RELIABILITY.md, "Leak canary"): tests/servers.py plants one
# random value, SK_CANARY, in every backend. Read through every scheme and
# read call; secrets, errors, events, stats and the client go through every
# way Ruby turns an object into text. Nothing may hold the canary or any 12
# characters of its random part; only #reveal gives it. Everything rendered
# is also written to $SK_CANARY_OUT/ruby.log, which scripts/test.sh scans
# with the whole run's output, and the proof line the scan requires is
# printed last.
class CanaryTest < Minitest::Test
  SCHEMES = %w[ssm asm asm-json vault env file].freeze
  WINDOW = 12 # as scripts/leak_scan.py

  def setup
    names = ['SK_CANARY'] + SCHEMES.map { |s| env_name(s) }
    missing = names.reject { |n| ENV.fetch(n, '') != '' }
    flunk "#{missing.join(', ')} unset: start the servers with tests/servers.py --fixtures" unless missing.empty?
    @canary = ENV.fetch('SK_CANARY')
    tail = @canary.split('-', 2).last.downcase
    @windows = (0..tail.size - WINDOW).map { |i| tail[i, WINDOW] }
    dir = ENV.fetch('SK_CANARY_OUT') { Dir.mktmpdir('secretkit-canary-') }
    @log = File.open(File.join(dir, 'ruby.log'), 'a')
    @count = 0
  end

  def env_name(scheme) = "SK_CANARY_#{scheme.upcase.tr('-', '_')}"

  def teardown
    @log&.close
    super
  end

  def leaks?(text)
    low = text.downcase
    @windows.any? { |w| low.include?(w) }
  end

  def check(label, text)
    text = text.to_s
    @count += 1
    @log.puts("[#{label}] #{text}")
    refute leaks?(text), "LEAK: #{label} shows the canary"
  end

  def check_all(label, obj)
    log = StringIO.new
    Logger.new(log).warn(obj)
    {
      to_s: -> { obj.to_s }, inspect: -> { obj.inspect }, interpolated: -> { "#{obj}" },
      format: -> { format('%s %p', obj, obj) }, pp: -> { obj.pretty_inspect },
      json: -> { JSON.generate([obj]) }, nested: -> { { k: [obj] }.inspect },
      ivars: -> { obj.instance_variables.map { |v| obj.instance_variable_get(v).inspect }.join(' ') },
      logger: -> { log.string }
    }.each do |how, render|
      text = begin
        render.call
      rescue StandardError => e
        "raised #{e.class}" # e.g. JSON of an object that has no to_json
      end
      check("#{label} #{how}", text)
    end
  end

  def check_error(label, error)
    check_all(label, error)
    check("#{label} message", error.message)
    check("#{label} full_message", error.full_message(highlight: false))
  end

  def test_the_canary_never_shows_outside_reveal
    refs = SCHEMES.to_h { |s| [s, ENV.fetch(env_name(s))] }
    c = client
    events = Queue.new
    c.on { |event| events << event }
    read = []
    refs.each do |scheme, ref|
      secret = c.get(ref)
      check_all("#{scheme} secret", secret)
      check("#{scheme} reference", secret.reference)
      assert_includes secret.reveal, @canary if scheme != 'asm-json'
      read << scheme
      check_all("#{scheme} refreshed", c.refresh(ref))
    end
    c.get_many(refs.values).each { |secret| check_all('get_many', secret) }
    # A missing #field of a JSON secret names the field, not the document.
    json = refs.fetch('asm-json').split('#').first
    error = assert_raises(Secretkit::Error) { c.get("#{json}#no_such_field") }
    check_error('missing field', error)
    check_error('not found', assert_raises(Secretkit::NotFoundError) { c.get('asm:no/such/canary') })
    assert eventually(5) { events.size >= SCHEMES.size }, 'events to check'
    check_all('event', events.pop) until events.empty?
    check_all('stats', c.stats)
    check_all('client', c)
    check('metrics', c.metrics_text)
    c.close
    check_error('read after close', assert_raises(Secretkit::ConfigError) { c.get(refs['ssm']) })
    @log.flush
    refute leaks?(File.read(@log.path)), 'the canary log holds the canary'
    puts "leak canary: ruby read #{read.join(' ')}: ok (#{@canary.size} bytes each), #{@count} outputs checked, " \
         "0 occurrences; log #{@log.path}"
  end
end
